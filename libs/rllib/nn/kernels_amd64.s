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

// func tanhBackAVX(y, dy []float32)
// dy[i] *= 1 − y[i]² for i < len(dy) (a multiple of 8).
TEXT ·tanhBackAVX(SB), NOSPLIT, $0-48
	MOVQ y_base+0(FP), SI
	MOVQ dy_base+24(FP), DI
	MOVQ dy_len+32(FP), CX
	VMOVUPS onesf<>(SB), Y3

bloop:
	CMPQ CX, $8
	JL   bend
	VMOVUPS (SI), Y0
	VMOVUPS (DI), Y1
	VMOVAPS Y3, Y2
	VFNMADD231PS Y0, Y0, Y2
	VMULPS Y2, Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  bloop

bend:
	VZEROUPPER
	RET

DATA onesf<>+0(SB)/4, $0x3f800000
DATA onesf<>+4(SB)/4, $0x3f800000
DATA onesf<>+8(SB)/4, $0x3f800000
DATA onesf<>+12(SB)/4, $0x3f800000
DATA onesf<>+16(SB)/4, $0x3f800000
DATA onesf<>+20(SB)/4, $0x3f800000
DATA onesf<>+24(SB)/4, $0x3f800000
DATA onesf<>+28(SB)/4, $0x3f800000
GLOBL onesf<>(SB), RODATA|NOPTR, $32

// func gemv2StrideAVX(y0, y1, x0, x1 []float32, xs int, w []float32, ws, k int)
// Two gemvStrideAVX's sharing the loads of w: y0[j] += Σ_t x0[t*xs]·w[t*ws+j]
// and y1[j] += Σ_t x1[t*xs]·w[t*ws+j] for j < len(y0) (a multiple of 8;
// len(y1) ≥ len(y0)). Eight independent accumulators keep both FMA units
// busy; each sum keeps gemvStrideAVX's order, so results are identical.
TEXT ·gemv2StrideAVX(SB), NOSPLIT, $0-144
	MOVQ y0_base+0(FP), DI
	MOVQ y0_len+8(FP), CX
	MOVQ y1_base+24(FP), R15
	MOVQ x0_base+48(FP), SI
	MOVQ x1_base+72(FP), AX
	MOVQ xs+96(FP), R13
	SHLQ $2, R13
	MOVQ w_base+104(FP), BX
	MOVQ ws+128(FP), R8
	SHLQ $2, R8
	MOVQ k+136(FP), DX
	XORQ R9, R9

t32:
	MOVQ CX, R10
	SUBQ R9, R10
	CMPQ R10, $32
	JL   t8
	VMOVUPS (DI)(R9*4), Y0
	VMOVUPS 32(DI)(R9*4), Y1
	VMOVUPS 64(DI)(R9*4), Y2
	VMOVUPS 96(DI)(R9*4), Y3
	VMOVUPS (R15)(R9*4), Y8
	VMOVUPS 32(R15)(R9*4), Y9
	VMOVUPS 64(R15)(R9*4), Y10
	VMOVUPS 96(R15)(R9*4), Y11
	LEAQ (BX)(R9*4), R11
	MOVQ SI, R14
	MOVQ AX, R10
	XORQ R12, R12

t32i:
	CMPQ R12, DX
	JGE  t32done
	VBROADCASTSS (R14), Y4
	VBROADCASTSS (R10), Y5
	VMOVUPS (R11), Y6
	VMOVUPS 32(R11), Y7
	VFMADD231PS Y6, Y4, Y0
	VFMADD231PS Y6, Y5, Y8
	VFMADD231PS Y7, Y4, Y1
	VFMADD231PS Y7, Y5, Y9
	VMOVUPS 64(R11), Y6
	VMOVUPS 96(R11), Y7
	VFMADD231PS Y6, Y4, Y2
	VFMADD231PS Y6, Y5, Y10
	VFMADD231PS Y7, Y4, Y3
	VFMADD231PS Y7, Y5, Y11
	ADDQ R8, R11
	ADDQ R13, R14
	ADDQ R13, R10
	INCQ R12
	JMP  t32i

t32done:
	VMOVUPS Y0, (DI)(R9*4)
	VMOVUPS Y1, 32(DI)(R9*4)
	VMOVUPS Y2, 64(DI)(R9*4)
	VMOVUPS Y3, 96(DI)(R9*4)
	VMOVUPS Y8, (R15)(R9*4)
	VMOVUPS Y9, 32(R15)(R9*4)
	VMOVUPS Y10, 64(R15)(R9*4)
	VMOVUPS Y11, 96(R15)(R9*4)
	ADDQ $32, R9
	JMP  t32

t8:
	CMPQ R9, CX
	JGE  tend2
	VMOVUPS (DI)(R9*4), Y0
	VMOVUPS (R15)(R9*4), Y8
	LEAQ (BX)(R9*4), R11
	MOVQ SI, R14
	MOVQ AX, R10
	XORQ R12, R12

t8i:
	CMPQ R12, DX
	JGE  t8done
	VBROADCASTSS (R14), Y4
	VBROADCASTSS (R10), Y5
	VMOVUPS (R11), Y6
	VFMADD231PS Y6, Y4, Y0
	VFMADD231PS Y6, Y5, Y8
	ADDQ R8, R11
	ADDQ R13, R14
	ADDQ R13, R10
	INCQ R12
	JMP  t8i

t8done:
	VMOVUPS Y0, (DI)(R9*4)
	VMOVUPS Y8, (R15)(R9*4)
	ADDQ $8, R9
	JMP  t8

tend2:
	VZEROUPPER
	RET

// func adamAVX(p, g, m, v []float32, c *[7]float32)
// One Adam step on len(p) (a multiple of 8) parameters with the constants
// c = stepSize, 1/sqrt(bc2), β1, β2, 1−β1, 1−β2, ε, in exactly the
// operations (and order) of AdamStep.Apply's Go loop, without FMAs, so
// both give the same bits.
TEXT ·adamAVX(SB), NOSPLIT, $0-104
	MOVQ p_base+0(FP), DI
	MOVQ p_len+8(FP), CX
	MOVQ g_base+24(FP), SI
	MOVQ m_base+48(FP), R8
	MOVQ v_base+72(FP), R9
	MOVQ c+96(FP), AX
	VBROADCASTSS 0(AX), Y8
	VBROADCASTSS 4(AX), Y9
	VBROADCASTSS 8(AX), Y10
	VBROADCASTSS 12(AX), Y11
	VBROADCASTSS 16(AX), Y12
	VBROADCASTSS 20(AX), Y13
	VBROADCASTSS 24(AX), Y14

aloop:
	CMPQ CX, $8
	JL   aend
	VMOVUPS (SI), Y0
	VMOVUPS (R8), Y1
	VMOVUPS (R9), Y2
	VMULPS Y10, Y1, Y1
	VMULPS Y12, Y0, Y3
	VADDPS Y3, Y1, Y1
	VMULPS Y13, Y0, Y4
	VMULPS Y0, Y4, Y4
	VMULPS Y11, Y2, Y2
	VADDPS Y4, Y2, Y2
	VMOVUPS Y1, (R8)
	VMOVUPS Y2, (R9)
	VSQRTPS Y2, Y5
	VMULPS Y9, Y5, Y5
	VADDPS Y14, Y5, Y5
	VMULPS Y8, Y1, Y6
	VDIVPS Y5, Y6, Y6
	VMOVUPS (DI), Y7
	VSUBPS Y6, Y7, Y7
	VMOVUPS Y7, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	SUBQ $8, CX
	JMP  aloop

aend:
	VZEROUPPER
	RET

// func addAVX(dst, src []float32)
// dst[i] += src[i] for i < len(dst) (a multiple of 8).
TEXT ·addAVX(SB), NOSPLIT, $0-48
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ src_base+24(FP), SI

dloop:
	CMPQ CX, $8
	JL   dend2
	VMOVUPS (DI), Y0
	VADDPS (SI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	SUBQ $8, CX
	JMP  dloop

dend2:
	VZEROUPPER
	RET
