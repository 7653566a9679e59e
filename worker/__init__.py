"""The Celery worker: its app, thin tasks, the job runner, micro-batching, transport tuning and bootsteps."""
