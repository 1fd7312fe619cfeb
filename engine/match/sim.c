/* placeholder: module under construction */
typedef int reconnu_placeholder_sim;
