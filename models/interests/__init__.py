"""The signup interests model: NMF clustering of users by their interests."""
