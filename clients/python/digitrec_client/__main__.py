import sys

from digitrec_client.cli import main

sys.exit(main())
