from metaverse.cli import main

raise SystemExit(main())
