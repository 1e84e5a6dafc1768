"""Pipeline wiring (create_pipeline), configs, the local runner and the ``tke`` CLI."""
