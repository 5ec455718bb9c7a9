import sys

from livecaption.cli import main

sys.exit(main())
