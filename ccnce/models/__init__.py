"""Models of the backbone generator (AISLe) and its discriminator (METHOD.md)."""
