"""ember.distributed (torch.distributed): process groups and collectives over MPI.

Ranks are started by an MPI launcher (`ember launch`, `mpiexec -n N ember run script.py`,
`srun`); torchrun's RANK/WORLD_SIZE/LOCAL_RANK variables are set for the script. MPI itself comes
from the optional extra `ember[distributed]` (mpi4py + MPICH wheels).
"""
from .distributed_c10d import (Backend, DistBackendError, DistError, DistNetworkError,
                               DistStoreError, GroupMember, ProcessGroup, ReduceOp, Work,
                               all_gather, all_gather_into_tensor, all_gather_object, all_reduce,
                               all_to_all, all_to_all_single, barrier, broadcast,
                               broadcast_object_list, default_pg_timeout, destroy_process_group,
                               gather, gather_object, get_backend, get_global_rank,
                               get_group_rank, get_process_group_ranks, get_rank,
                               get_world_size, group, init_process_group, irecv, is_available,
                               is_gloo_available, is_initialized, is_mpi_available,
                               is_nccl_available, is_torchelastic_launched, is_ucc_available,
                               isend, new_group, recv, reduce, reduce_scatter,
                               reduce_scatter_tensor, scatter, scatter_object_list, send)
