"""``python -m ccnet_zoo`` = ``ccnet-zoo``."""

from ccnet_zoo.cli import main

if __name__ == "__main__":
    main(prog_name="python -m ccnet_zoo")
