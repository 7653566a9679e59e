"""The job layer web and worker share: settings, the job contract and store, task messages, queues, logs."""
