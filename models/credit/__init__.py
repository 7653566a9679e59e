"""The credit-risk model: probability of default, a decision against a threshold, and SHAP explanations."""
