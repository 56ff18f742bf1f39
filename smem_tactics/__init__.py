"""smem_tactics"""
