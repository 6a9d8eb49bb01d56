from v2m_bridge.cli import main

raise SystemExit(main())
