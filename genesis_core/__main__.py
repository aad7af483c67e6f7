import sys

from genesis_core.cli.main import main

sys.exit(main())
