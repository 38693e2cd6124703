"""The graded-duty page's parts: its components, read queries and callbacks."""
