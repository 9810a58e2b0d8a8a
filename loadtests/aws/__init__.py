"""The comparison against deployed stacks: discover endpoints from CloudFormation outputs, force cold
starts with the services' own APIs, run the same Locust scenarios, write the same report.
"""
