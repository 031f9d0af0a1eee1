module local.invalid/ingress

go 1.24.0
