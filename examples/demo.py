"""Placeholder until the core lands; replaced by the two-process filesystem demo."""
print('core not built yet')
