"""What leaves the service for planners and the county: fixed, suppressed publications and exports."""
