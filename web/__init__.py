"""The web front door: the Flask app that accepts, reports and lists jobs (built by ``web.app.create_app``)."""
