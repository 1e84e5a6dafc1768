"""Chicago taxi: will the rider tip more than 20% of the fare? (wide & deep)."""
