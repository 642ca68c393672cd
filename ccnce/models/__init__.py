"""Models of the backbone generator (the Multimodal Multi-Scale Transformer GAN of the paper's ref. [1]) and its
discriminator (METHOD.md)."""
