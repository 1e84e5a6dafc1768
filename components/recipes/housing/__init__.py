"""Boston housing: median home value regression (the cookbook seed's model)."""
