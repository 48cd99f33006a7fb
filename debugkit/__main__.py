from debugkit.cli import main

raise SystemExit(main())
