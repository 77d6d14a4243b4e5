"""Development tools that stay out of the production wheel (docs/deployment.md): the demo data
set `python -m gateway dev` loads when it runs from a clone of the repository."""
