module memdiag/scenarios

go 1.19
