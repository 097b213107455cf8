# Hand-written assembly: function symbols without .size, a call within the program section
# (no relocation) and a call into .text, to check that such objects load like compiled ones.
	.text
	.globl	add_one
	.type	add_one,@function
add_one:
	r0 = r1
	r0 += 1
	exit

	.section	xdp,"ax",@progbits
	.globl	entry
	.type	entry,@function
entry:
	r1 = 41
	call local
	r1 = r0
	call add_one
	exit
	.type	local,@function
local:
	r0 = r1
	exit

	.section	license,"aw",@progbits
	.asciz	"GPL"
