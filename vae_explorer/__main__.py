from vae_explorer.cli import main

raise SystemExit(main())
