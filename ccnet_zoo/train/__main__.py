"""``python -m ccnet_zoo.train STAGE ...`` = ``ccnet-zoo train STAGE ...`` (handy under torchrun)."""

from ccnet_zoo.models_cli import train

if __name__ == "__main__":
    train(prog_name="python -m ccnet_zoo.train")
