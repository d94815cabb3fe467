"""``python -m ccnet_zoo.train STAGE ...`` = ``ccnet-zoo train STAGE ...`` (handy under torchrun).

An entry point, not a module to import: it goes through the command line package like ``ccnet-zoo`` does.
"""

from ccnet_zoo.cli.train import train

if __name__ == "__main__":
    train(prog_name="python -m ccnet_zoo.train")
