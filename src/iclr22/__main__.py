import sys

from iclr22.cli import main

sys.exit(main())
