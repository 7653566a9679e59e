"""The iris species classifier, trained on Fisher's measurements that ship with scikit-learn."""
