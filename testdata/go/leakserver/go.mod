module memdiag/leakserver

go 1.19
