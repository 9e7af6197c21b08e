"""Every SQL statement of the service, grouped by table family. Functions take a cursor."""
