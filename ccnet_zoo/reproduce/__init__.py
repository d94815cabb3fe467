"""``ccnet-zoo reproduce --table 1``: CC-Net against the pre-contrast baseline, per DCE phase."""

from ccnet_zoo.reproduce.config import PAPER_VALUES, ReproduceConfig
from ccnet_zoo.reproduce.run import reproduce_table1

__all__ = ["PAPER_VALUES", "ReproduceConfig", "reproduce_table1"]
