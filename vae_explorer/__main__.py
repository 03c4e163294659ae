from vae_explorer.cli import run

run()
