"""What leaves the machine: payloads, the HTTP client and its retries, the send run, its audit."""
