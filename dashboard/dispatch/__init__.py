"""Dispatch (`/dispatch`): the incident queue, one incident's detail and actions, the side panels."""
