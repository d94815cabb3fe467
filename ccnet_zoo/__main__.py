"""``python -m ccnet_zoo``: the same as the ``ccnet-zoo`` command."""

from ccnet_zoo._console import main

if __name__ == "__main__":
    main(prog_name="python -m ccnet_zoo")
