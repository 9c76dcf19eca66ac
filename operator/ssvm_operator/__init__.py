"""ssvm-operator: keeps CloudStack SSVMs as declared in Kubernetes."""
