"""Reading shoppers: normalisation, intent classification, entities and sentiment."""
