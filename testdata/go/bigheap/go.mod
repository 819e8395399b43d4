module memdiag/bigheap

go 1.19
