#include "textflag.h"

// func gemvAccAVX(y, x, w []float32, out int)
// y[j] += Σ_i x[i]·w[i*out+j] for j < len(y) (a multiple of 8), i < len(x),
// i ascending, one FMA per term.
TEXT ·gemvAccAVX(SB), NOSPLIT, $0-80
	MOVQ y_base+0(FP), DI
	MOVQ y_len+8(FP), CX
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), DX
	MOVQ w_base+48(FP), BX
	MOVQ out+72(FP), R8
	SHLQ $2, R8
	XORQ R9, R9

g32:
	MOVQ CX, R10
	SUBQ R9, R10
	CMPQ R10, $32
	JL   g8
	VMOVUPS (DI)(R9*4), Y0
	VMOVUPS 32(DI)(R9*4), Y1
	VMOVUPS 64(DI)(R9*4), Y2
	VMOVUPS 96(DI)(R9*4), Y3
	LEAQ (BX)(R9*4), R11
	XORQ R12, R12

g32i:
	CMPQ R12, DX
	JGE  g32done
	VBROADCASTSS (SI)(R12*4), Y4
	VFMADD231PS (R11), Y4, Y0
	VFMADD231PS 32(R11), Y4, Y1
	VFMADD231PS 64(R11), Y4, Y2
	VFMADD231PS 96(R11), Y4, Y3
	ADDQ R8, R11
	INCQ R12
	JMP  g32i

g32done:
	VMOVUPS Y0, (DI)(R9*4)
	VMOVUPS Y1, 32(DI)(R9*4)
	VMOVUPS Y2, 64(DI)(R9*4)
	VMOVUPS Y3, 96(DI)(R9*4)
	ADDQ $32, R9
	JMP  g32

g8:
	CMPQ R9, CX
	JGE  gend
	VMOVUPS (DI)(R9*4), Y0
	LEAQ (BX)(R9*4), R11
	XORQ R12, R12

g8i:
	CMPQ R12, DX
	JGE  g8done
	VBROADCASTSS (SI)(R12*4), Y4
	VFMADD231PS (R11), Y4, Y0
	ADDQ R8, R11
	INCQ R12
	JMP  g8i

g8done:
	VMOVUPS Y0, (DI)(R9*4)
	ADDQ $8, R9
	JMP  g8

gend:
	VZEROUPPER
	RET

// func dotRowsAVX(dx, w, dy []float32, out int)
// dx[i] = Σ_j w[i*out+j]·dy[j] for i < len(dx), j < len(dy) (a multiple
// of 8), with four 8-wide partial sums in a fixed order.
TEXT ·dotRowsAVX(SB), NOSPLIT, $0-80
	MOVQ dx_base+0(FP), DI
	MOVQ dx_len+8(FP), DX
	MOVQ w_base+24(FP), BX
	MOVQ dy_base+48(FP), SI
	MOVQ dy_len+56(FP), CX
	MOVQ out+72(FP), R8
	SHLQ $2, R8
	XORQ R12, R12

drow:
	CMPQ R12, DX
	JGE  dend
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ R9, R9

d32:
	MOVQ CX, R10
	SUBQ R9, R10
	CMPQ R10, $32
	JL   d8
	VMOVUPS (SI)(R9*4), Y4
	VMOVUPS 32(SI)(R9*4), Y5
	VMOVUPS 64(SI)(R9*4), Y6
	VMOVUPS 96(SI)(R9*4), Y7
	VFMADD231PS (BX)(R9*4), Y4, Y0
	VFMADD231PS 32(BX)(R9*4), Y5, Y1
	VFMADD231PS 64(BX)(R9*4), Y6, Y2
	VFMADD231PS 96(BX)(R9*4), Y7, Y3
	ADDQ $32, R9
	JMP  d32

d8:
	CMPQ R9, CX
	JGE  dsum
	VMOVUPS (SI)(R9*4), Y4
	VFMADD231PS (BX)(R9*4), Y4, Y0
	ADDQ $8, R9
	JMP  d8

dsum:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	MOVSS X0, (DI)(R12*4)
	ADDQ R8, BX
	INCQ R12
	JMP  drow

dend:
	VZEROUPPER
	RET

// func gerAVX(dw, x, dy []float32, out int)
// dw[i*out+j] += x[i]·dy[j] for i < len(x), j < len(dy) (a multiple of 8).
TEXT ·gerAVX(SB), NOSPLIT, $0-80
	MOVQ dw_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), DX
	MOVQ dy_base+48(FP), BX
	MOVQ dy_len+56(FP), CX
	MOVQ out+72(FP), R8
	SHLQ $2, R8
	XORQ R12, R12

grow:
	CMPQ R12, DX
	JGE  gerend
	VBROADCASTSS (SI)(R12*4), Y4
	XORQ R9, R9

gcol:
	CMPQ R9, CX
	JGE  gnext
	VMOVUPS (DI)(R9*4), Y0
	VFMADD231PS (BX)(R9*4), Y4, Y0
	VMOVUPS Y0, (DI)(R9*4)
	ADDQ $8, R9
	JMP  gcol

gnext:
	ADDQ R8, DI
	INCQ R12
	JMP  grow

gerend:
	VZEROUPPER
	RET

// tanhc holds the tanh32 constants, each replicated 8 times:
 // clamp, −clamp, a13, a11, a9, a7, a5, a3, a1, b6, b4, b2, b0.
DATA tanhc<>+0(SB)/4, $0x40fcf84f
DATA tanhc<>+4(SB)/4, $0x40fcf84f
DATA tanhc<>+8(SB)/4, $0x40fcf84f
DATA tanhc<>+12(SB)/4, $0x40fcf84f
DATA tanhc<>+16(SB)/4, $0x40fcf84f
DATA tanhc<>+20(SB)/4, $0x40fcf84f
DATA tanhc<>+24(SB)/4, $0x40fcf84f
DATA tanhc<>+28(SB)/4, $0x40fcf84f
DATA tanhc<>+32(SB)/4, $0xc0fcf84f
DATA tanhc<>+36(SB)/4, $0xc0fcf84f
DATA tanhc<>+40(SB)/4, $0xc0fcf84f
DATA tanhc<>+44(SB)/4, $0xc0fcf84f
DATA tanhc<>+48(SB)/4, $0xc0fcf84f
DATA tanhc<>+52(SB)/4, $0xc0fcf84f
DATA tanhc<>+56(SB)/4, $0xc0fcf84f
DATA tanhc<>+60(SB)/4, $0xc0fcf84f
DATA tanhc<>+64(SB)/4, $0xa59f25c0
DATA tanhc<>+68(SB)/4, $0xa59f25c0
DATA tanhc<>+72(SB)/4, $0xa59f25c0
DATA tanhc<>+76(SB)/4, $0xa59f25c0
DATA tanhc<>+80(SB)/4, $0xa59f25c0
DATA tanhc<>+84(SB)/4, $0xa59f25c0
DATA tanhc<>+88(SB)/4, $0xa59f25c0
DATA tanhc<>+92(SB)/4, $0xa59f25c0
DATA tanhc<>+96(SB)/4, $0x2a61337e
DATA tanhc<>+100(SB)/4, $0x2a61337e
DATA tanhc<>+104(SB)/4, $0x2a61337e
DATA tanhc<>+108(SB)/4, $0x2a61337e
DATA tanhc<>+112(SB)/4, $0x2a61337e
DATA tanhc<>+116(SB)/4, $0x2a61337e
DATA tanhc<>+120(SB)/4, $0x2a61337e
DATA tanhc<>+124(SB)/4, $0x2a61337e
DATA tanhc<>+128(SB)/4, $0xaebd37ff
DATA tanhc<>+132(SB)/4, $0xaebd37ff
DATA tanhc<>+136(SB)/4, $0xaebd37ff
DATA tanhc<>+140(SB)/4, $0xaebd37ff
DATA tanhc<>+144(SB)/4, $0xaebd37ff
DATA tanhc<>+148(SB)/4, $0xaebd37ff
DATA tanhc<>+152(SB)/4, $0xaebd37ff
DATA tanhc<>+156(SB)/4, $0xaebd37ff
DATA tanhc<>+160(SB)/4, $0x335c0041
DATA tanhc<>+164(SB)/4, $0x335c0041
DATA tanhc<>+168(SB)/4, $0x335c0041
DATA tanhc<>+172(SB)/4, $0x335c0041
DATA tanhc<>+176(SB)/4, $0x335c0041
DATA tanhc<>+180(SB)/4, $0x335c0041
DATA tanhc<>+184(SB)/4, $0x335c0041
DATA tanhc<>+188(SB)/4, $0x335c0041
DATA tanhc<>+192(SB)/4, $0x3779434a
DATA tanhc<>+196(SB)/4, $0x3779434a
DATA tanhc<>+200(SB)/4, $0x3779434a
DATA tanhc<>+204(SB)/4, $0x3779434a
DATA tanhc<>+208(SB)/4, $0x3779434a
DATA tanhc<>+212(SB)/4, $0x3779434a
DATA tanhc<>+216(SB)/4, $0x3779434a
DATA tanhc<>+220(SB)/4, $0x3779434a
DATA tanhc<>+224(SB)/4, $0x3a270ded
DATA tanhc<>+228(SB)/4, $0x3a270ded
DATA tanhc<>+232(SB)/4, $0x3a270ded
DATA tanhc<>+236(SB)/4, $0x3a270ded
DATA tanhc<>+240(SB)/4, $0x3a270ded
DATA tanhc<>+244(SB)/4, $0x3a270ded
DATA tanhc<>+248(SB)/4, $0x3a270ded
DATA tanhc<>+252(SB)/4, $0x3a270ded
DATA tanhc<>+256(SB)/4, $0x3ba059dc
DATA tanhc<>+260(SB)/4, $0x3ba059dc
DATA tanhc<>+264(SB)/4, $0x3ba059dc
DATA tanhc<>+268(SB)/4, $0x3ba059dc
DATA tanhc<>+272(SB)/4, $0x3ba059dc
DATA tanhc<>+276(SB)/4, $0x3ba059dc
DATA tanhc<>+280(SB)/4, $0x3ba059dc
DATA tanhc<>+284(SB)/4, $0x3ba059dc
DATA tanhc<>+288(SB)/4, $0x35a0d3d8
DATA tanhc<>+292(SB)/4, $0x35a0d3d8
DATA tanhc<>+296(SB)/4, $0x35a0d3d8
DATA tanhc<>+300(SB)/4, $0x35a0d3d8
DATA tanhc<>+304(SB)/4, $0x35a0d3d8
DATA tanhc<>+308(SB)/4, $0x35a0d3d8
DATA tanhc<>+312(SB)/4, $0x35a0d3d8
DATA tanhc<>+316(SB)/4, $0x35a0d3d8
DATA tanhc<>+320(SB)/4, $0x38f895d6
DATA tanhc<>+324(SB)/4, $0x38f895d6
DATA tanhc<>+328(SB)/4, $0x38f895d6
DATA tanhc<>+332(SB)/4, $0x38f895d6
DATA tanhc<>+336(SB)/4, $0x38f895d6
DATA tanhc<>+340(SB)/4, $0x38f895d6
DATA tanhc<>+344(SB)/4, $0x38f895d6
DATA tanhc<>+348(SB)/4, $0x38f895d6
DATA tanhc<>+352(SB)/4, $0x3b14aa05
DATA tanhc<>+356(SB)/4, $0x3b14aa05
DATA tanhc<>+360(SB)/4, $0x3b14aa05
DATA tanhc<>+364(SB)/4, $0x3b14aa05
DATA tanhc<>+368(SB)/4, $0x3b14aa05
DATA tanhc<>+372(SB)/4, $0x3b14aa05
DATA tanhc<>+376(SB)/4, $0x3b14aa05
DATA tanhc<>+380(SB)/4, $0x3b14aa05
DATA tanhc<>+384(SB)/4, $0x3ba059dd
DATA tanhc<>+388(SB)/4, $0x3ba059dd
DATA tanhc<>+392(SB)/4, $0x3ba059dd
DATA tanhc<>+396(SB)/4, $0x3ba059dd
DATA tanhc<>+400(SB)/4, $0x3ba059dd
DATA tanhc<>+404(SB)/4, $0x3ba059dd
DATA tanhc<>+408(SB)/4, $0x3ba059dd
DATA tanhc<>+412(SB)/4, $0x3ba059dd
GLOBL tanhc<>(SB), RODATA|NOPTR, $416

// func tanhAVX(y []float32)
// y[i] = tanh32(y[i]) for i < len(y) (a multiple of 8), with FMAs.
TEXT ·tanhAVX(SB), NOSPLIT, $0-24
	MOVQ y_base+0(FP), DI
	MOVQ y_len+8(FP), CX

tloop:
	CMPQ CX, $8
	JL   tend
	VMOVUPS (DI), Y0
	VMINPS tanhc<>+0(SB), Y0, Y0
	VMAXPS tanhc<>+32(SB), Y0, Y0
	VMULPS Y0, Y0, Y1
	VMOVUPS tanhc<>+64(SB), Y2
	VFMADD213PS tanhc<>+96(SB), Y1, Y2
	VFMADD213PS tanhc<>+128(SB), Y1, Y2
	VFMADD213PS tanhc<>+160(SB), Y1, Y2
	VFMADD213PS tanhc<>+192(SB), Y1, Y2
	VFMADD213PS tanhc<>+224(SB), Y1, Y2
	VFMADD213PS tanhc<>+256(SB), Y1, Y2
	VMULPS Y0, Y2, Y2
	VMOVUPS tanhc<>+288(SB), Y3
	VFMADD213PS tanhc<>+320(SB), Y1, Y3
	VFMADD213PS tanhc<>+352(SB), Y1, Y3
	VFMADD213PS tanhc<>+384(SB), Y1, Y3
	VDIVPS Y3, Y2, Y2
	VMOVUPS Y2, (DI)
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  tloop

tend:
	VZEROUPPER
	RET

// func gemvStrideAVX(y, x []float32, xs int, w []float32, ws, k int)
// y[j] += Σ_{t<k} x[t*xs]·w[t*ws+j] for j < len(y) (a multiple of 8),
// t ascending, one FMA per term.
TEXT ·gemvStrideAVX(SB), NOSPLIT, $0-96
	MOVQ y_base+0(FP), DI
	MOVQ y_len+8(FP), CX
	MOVQ x_base+24(FP), SI
	MOVQ xs+48(FP), R13
	SHLQ $2, R13
	MOVQ w_base+56(FP), BX
	MOVQ ws+80(FP), R8
	SHLQ $2, R8
	MOVQ k+88(FP), DX
	XORQ R9, R9

s32:
	MOVQ CX, R10
	SUBQ R9, R10
	CMPQ R10, $32
	JL   s8
	VMOVUPS (DI)(R9*4), Y0
	VMOVUPS 32(DI)(R9*4), Y1
	VMOVUPS 64(DI)(R9*4), Y2
	VMOVUPS 96(DI)(R9*4), Y3
	LEAQ (BX)(R9*4), R11
	MOVQ SI, R14
	XORQ R12, R12

s32i:
	CMPQ R12, DX
	JGE  s32done
	VBROADCASTSS (R14), Y4
	VFMADD231PS (R11), Y4, Y0
	VFMADD231PS 32(R11), Y4, Y1
	VFMADD231PS 64(R11), Y4, Y2
	VFMADD231PS 96(R11), Y4, Y3
	ADDQ R8, R11
	ADDQ R13, R14
	INCQ R12
	JMP  s32i

s32done:
	VMOVUPS Y0, (DI)(R9*4)
	VMOVUPS Y1, 32(DI)(R9*4)
	VMOVUPS Y2, 64(DI)(R9*4)
	VMOVUPS Y3, 96(DI)(R9*4)
	ADDQ $32, R9
	JMP  s32

s8:
	CMPQ R9, CX
	JGE  send
	VMOVUPS (DI)(R9*4), Y0
	LEAQ (BX)(R9*4), R11
	MOVQ SI, R14
	XORQ R12, R12

s8i:
	CMPQ R12, DX
	JGE  s8done
	VBROADCASTSS (R14), Y4
	VFMADD231PS (R11), Y4, Y0
	ADDQ R8, R11
	ADDQ R13, R14
	INCQ R12
	JMP  s8i

s8done:
	VMOVUPS Y0, (DI)(R9*4)
	ADDQ $8, R9
	JMP  s8

send:
	VZEROUPPER
	RET
