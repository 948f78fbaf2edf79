"""Deploy rehearsal: `cdk deploy` of the dev stage into a local moto server (make deploy-local)."""
