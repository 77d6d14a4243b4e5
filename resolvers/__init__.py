"""GraphQL types, inputs and resolvers: argument checks -> db calls -> types. No starlette here."""
