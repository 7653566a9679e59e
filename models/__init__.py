"""Model code, training and the trusted store of artifacts; light to import (no scikit-learn here)."""
