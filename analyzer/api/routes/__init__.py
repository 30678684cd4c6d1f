"""One router per resource; handlers are thin: parse, call the query layer, shape the response."""
