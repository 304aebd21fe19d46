import sys

from wharf.shim.main import main

sys.exit(main())
