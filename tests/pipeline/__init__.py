"""The offline executor of the synthesized SageMaker Pipeline (docs/training.md, "Testing")."""
