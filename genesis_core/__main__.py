import sys

from genesis_core.cli import main

sys.exit(main())
