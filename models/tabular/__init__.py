"""Classifiers over named numeric features: trained from a user's CSV, served like any model."""
