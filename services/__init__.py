"""The Glassbox bounded contexts, one package each; they never import each other."""
